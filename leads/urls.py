from django.urls import include, path

from leads import crm_views, views
from leads.intake import problem_views
from leads.routing import views as routing_views
from leads.segments import views as segment_views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("queue/", views.queue, name="queue"),
    path("my-day/", views.my_day, name="my_day"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/release/", views.release, name="release"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/pause/", views.pause, name="pause"),
    path("<int:pk>/resume/", views.resume, name="resume"),
    path("rescoring/", views.rescore_status, name="rescore_status"),
    path("export/<str:fmt>.csv", crm_views.crm_export, name="crm_export"),
    path("rescoring/<int:pk>/retry/", views.rescore_retry, name="rescore_retry"),
    path("routing/", routing_views.routing, name="routing"),
    path("routing/<int:pk>/", routing_views.routing_rep, name="routing_rep"),
    path("segments/", segment_views.segment_list, name="segments"),
    path("segments/new/", segment_views.segment_new, name="segment_new"),
    path("segments/<int:pk>/", segment_views.segment_edit, name="segment"),
    path("segments/<int:pk>/preview/", segment_views.segment_preview, name="segment_preview"),
    path("segments/moving/<int:pk>/", segment_views.segment_job_status, name="segment_job"),
    path(
        "segments/<int:pk>/precedence/<slug:direction>/",
        segment_views.segment_precedence,
        name="segment_precedence",
    ),
    path("imports/", include("leads.intake.import_urls")),
    path("data-problems/", problem_views.data_problems, name="data_problems"),
]
