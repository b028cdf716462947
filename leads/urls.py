from django.urls import include, path

from leads import views

app_name = "leads"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("my-day/", views.my_day, name="my_day"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/release/", views.release, name="release"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("rescoring/", views.rescore_status, name="rescore_status"),
    path("rescoring/<int:pk>/retry/", views.rescore_retry, name="rescore_retry"),
    path("imports/", include("leads.intake.import_urls")),
]
