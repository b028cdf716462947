from django.urls import path

from leads import views

app_name = "leads"

urlpatterns = [
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("rescoring/", views.rescore_status, name="rescore_status"),
]
