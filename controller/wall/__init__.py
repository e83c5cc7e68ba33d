"""The wall: one mpv player per camera, each in its own X window at its tile."""
