"""CineLibre: a self-hostable recommendation backend for movies and books."""

__version__ = "0.1.0"
SERVICE_NAME = "CineLibre"
