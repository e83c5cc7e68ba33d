"""Display control: the wall's display processor and panels over RS-232."""
