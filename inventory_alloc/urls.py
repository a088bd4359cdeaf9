"""URL configuration: the admin (back office), its language switch and the REST API under /api/v1/."""
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from inventory_alloc.api_urls import router

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the admin header's language switch
    path("api/v1/", include("inventory_alloc.api_urls")),
    path("api/v1", router.get_api_root_view()),  # the API's root without its trailing slash, as every route
]

# JSON instead of HTML pages for /api/ paths (used when DEBUG is off).
handler400 = "inventory_alloc.exceptions.bad_request"
handler403 = "inventory_alloc.exceptions.permission_denied"
handler404 = "inventory_alloc.exceptions.page_not_found"
handler500 = "inventory_alloc.exceptions.server_error"
