"""The REST API's routes (filled in by the API issue)."""
urlpatterns: list = []
