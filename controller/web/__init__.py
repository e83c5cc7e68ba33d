"""The HTTP API, the WebSocket event stream and the tablet web remote."""
