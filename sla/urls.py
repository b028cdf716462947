from django.urls import path

from sla import views

app_name = "sla"

urlpatterns = [
    path("", views.active, name="active"),
    path("versions/", views.versions, name="versions"),
    path("versions/new/", views.draft_create, name="draft_create"),
    path("versions/<int:pk>/", views.version_detail, name="version"),
    path("versions/<int:pk>/details/", views.details_update, name="details_update"),
    path("versions/<int:pk>/diff/", views.diff, name="diff"),
    path("versions/<int:pk>/propose/", views.propose, name="propose"),
    path("versions/<int:pk>/sign/", views.sign, name="sign"),
    path("versions/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("versions/<int:pk>/comments/", views.comment, name="comment"),
    path("versions/<int:pk>/parts/<slug:part>/", views.part_edit, name="part_edit"),
    path("versions/<int:pk>/rules/<slug:section>/new/", views.rule_edit, name="rule_add"),
    path("versions/<int:pk>/rules/<slug:section>/<slug:rule_id>/", views.rule_edit, name="rule_edit"),
    path(
        "versions/<int:pk>/rules/<slug:section>/<slug:rule_id>/delete/", views.rule_delete, name="rule_delete"
    ),
    path(
        "versions/<int:pk>/rules/<slug:section>/<slug:rule_id>/move/<slug:direction>/",
        views.rule_move,
        name="rule_move",
    ),
]
