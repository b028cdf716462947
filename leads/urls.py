from django.urls import include, path

from leads import views
from leads.routing import views as routing_views

app_name = "leads"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("my-day/", views.my_day, name="my_day"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/release/", views.release, name="release"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/pause/", views.pause, name="pause"),
    path("<int:pk>/resume/", views.resume, name="resume"),
    path("rescoring/", views.rescore_status, name="rescore_status"),
    path("routing/", routing_views.routing, name="routing"),
    path("routing/<int:pk>/", routing_views.routing_rep, name="routing_rep"),
    path("imports/", include("leads.intake.import_urls")),
]
