from django.urls import path

from leads.intake import inbound

urlpatterns = [
    path("inbound/mautic/", inbound.mautic_webhook, name="inbound_mautic"),
    path("inbound/events/", inbound.generic_webhook, name="inbound_events"),
]
