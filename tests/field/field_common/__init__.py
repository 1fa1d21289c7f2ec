"""The app both field projects install: a model, cached functions and every view shape."""
