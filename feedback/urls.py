from django.urls import path

from feedback import opportunity_views, reason_views, review_views, segment_views, trend_views, views

app_name = "feedback"

urlpatterns = [
    path("leads/<int:pk>/outcome/", views.panel, name="panel"),
    path("leads/<int:pk>/contact/", views.contact, name="contact"),
    path("leads/<int:pk>/accept/", views.accept, name="accept"),
    path("leads/<int:pk>/reject/", views.reject, name="reject"),
    path("leads/<int:pk>/qualify/", views.qualify, name="qualify"),
    path("leads/<int:pk>/opportunity/", views.opportunity, name="opportunity"),
    path("leads/<int:pk>/win/", views.win, name="win"),
    path("leads/<int:pk>/lose/", views.lose, name="lose"),
    path("leads/<int:pk>/disqualify/", views.disqualify, name="disqualify"),
    path("nurture/", views.nurture, name="nurture"),
    path("reasons/", reason_views.reasons, name="reasons"),
    path("reasons/<int:pk>/", reason_views.reason_edit, name="reason_edit"),
    path("review/", review_views.review, name="review"),
    path("review/export.csv", review_views.review_csv, name="review_csv"),
    path("review/decisions/", review_views.decide, name="decide"),
    path("review/next-draft/", review_views.start_draft, name="start_draft"),
    path("review/freeze/", review_views.freeze, name="freeze"),
    path("trend/", trend_views.trend, name="trend"),
    path("trend/export.csv", trend_views.trend_csv, name="trend_csv"),
    path("agreements/<int:pk>/capacity/", trend_views.capacity, name="capacity"),
    path("outcomes/opportunities/", opportunity_views.opportunity_import, name="opportunities"),
    path("agreements/<int:pk>/what-if/", review_views.whatif, name="whatif"),
    path("agreements/<int:pk>/what-if/segments/", segment_views.whatif_segments, name="whatif_segments"),
]
