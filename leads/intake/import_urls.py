"""CSV import URLs, included under /leads/imports/ in the `leads` namespace (leads:import_list, ...)."""

from django.urls import path

from leads.intake import import_views

urlpatterns = [
    path("", import_views.import_list, name="import_list"),
    path("new/", import_views.import_new, name="import_new"),
    path("<int:pk>/", import_views.import_detail, name="import_detail"),
    path("<int:pk>/mapping/", import_views.import_mapping, name="import_mapping"),
    path("<int:pk>/preview/", import_views.import_preview, name="import_preview"),
    path("<int:pk>/encoding/", import_views.import_encoding, name="import_encoding"),
    path("<int:pk>/start/", import_views.import_start, name="import_start"),
    path("<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("<int:pk>/rejected-rows.csv", import_views.import_errors_csv, name="import_errors_csv"),
]
