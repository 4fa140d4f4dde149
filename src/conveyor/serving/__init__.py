"""Serving: model runtimes, endpoints and the prediction server."""
