from django.contrib import admin
from django.urls import include, path

from toc.lib.views import healthz
from toc.sms import views as sms_views
from toc.sms import webhooks as sms_webhooks

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("webhooks/twilio/sms/inbound", sms_webhooks.inbound, name="sms-twilio-inbound"),
    path("webhooks/twilio/sms/status/<uuid:message_id>", sms_webhooks.status, name="sms-twilio-status"),
    path("sms/media/<str:token>", sms_views.public_media, name="sms-public-media"),
    path("api/", include((("toc.api_urls"), "api"))),
    path("accounts/", include("allauth.urls")),
    path("selfcare/", include("toc.selfcare.urls")),
    path("", include("toc.accounts.urls")),
]
