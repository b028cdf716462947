from django.urls import include, path

from leads import crm_views, views

app_name = "leads"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("my-day/", views.my_day, name="my_day"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/release/", views.release, name="release"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("rescoring/", views.rescore_status, name="rescore_status"),
    path("export/<str:fmt>.csv", crm_views.crm_export, name="crm_export"),
    path("imports/", include("leads.intake.import_urls")),
]
