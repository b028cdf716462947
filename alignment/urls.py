from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from alignment import preference_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("system/", views.health, name="health"),
    path("accounts/preferences/", preference_views.preferences, name="preferences"),
    path("i18n/language/", preference_views.set_language_pref, name="set_language_pref"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("agreement/", include("sla.urls")),
    path("leads/", include("leads.urls")),
    path("feedback/", include("feedback.urls")),
    path("", include("leads.intake.api")),  # Segment-compatible /v1/... events and the /api/... read API
    path("admin/", admin.site.urls),
]
