from django.contrib import admin
from django.urls import include, path

from toc.lib.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include((("toc.api_urls"), "api"))),
    path("accounts/", include("allauth.urls")),
    path("", include("toc.accounts.urls")),
]
