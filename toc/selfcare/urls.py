"""The Online Self Care portal, under /selfcare/: each area's view module lists its own pages."""

from django.urls import path

from toc.selfcare.views import account, company, company_rooms, forwarding

app_name = "selfcare"

urlpatterns = [
    path("", forwarding.home, name="home"),
    *forwarding.urlpatterns,
    *account.urlpatterns,
    *company.urlpatterns,
    *company_rooms.urlpatterns,
]
