from django.db import models


class Article(models.Model):
    """A project model on ``DEFAULT_AUTO_FIELD`` (BigAutoField), as startproject sets it."""

    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.title
