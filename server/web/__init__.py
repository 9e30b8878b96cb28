"""The HTTP service: a Flask application factory with one blueprint per endpoint family."""
