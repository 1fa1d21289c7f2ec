"""Authors, books and reviews: the app of the catalogue demo."""
