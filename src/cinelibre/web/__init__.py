"""The web app on the API's origin (built from web/, served from web/dist) and live updates over
a WebSocket at /ws."""
