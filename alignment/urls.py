from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from alignment import notification_views, preference_views, system_views, views
from feedback import home as feedback_home

urlpatterns = [
    # Browsers ask for /favicon.ico on pages without a <link rel="icon"> (a partial opened on its own)
    path("favicon.ico", views.favicon, name="favicon"),
    path("", feedback_home.home, name="home"),
    path("system/", views.health, name="health"),
    path("accounts/preferences/", preference_views.preferences, name="preferences"),
    path("i18n/language/", preference_views.set_language_pref, name="set_language_pref"),
    path("system/deliveries/", system_views.deliveries, name="deliveries"),
    path("system/deliveries/<int:pk>/retry/", system_views.delivery_retry, name="delivery_retry"),
    path("system/webhooks/", system_views.webhook_list, name="webhooks"),
    path("system/webhooks/<int:pk>/", system_views.webhook_detail, name="webhook_detail"),
    path("system/webhooks/<int:pk>/test/", system_views.webhook_test, name="webhook_test"),
    path("system/webhooks/<int:pk>/toggle/", system_views.webhook_toggle, name="webhook_toggle"),
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/bell/", notification_views.bell, name="notification_bell"),
    path("notifications/read-all/", notification_views.notification_read_all, name="notifications_read_all"),
    path("notifications/<int:pk>/open/", notification_views.notification_open, name="notification_open"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("agreement/", include("sla.urls")),
    path("leads/", include("leads.urls")),
    path("feedback/", include("feedback.urls")),
    path("", include("leads.intake.inbound_urls")),  # signed inbound webhooks: Mautic and generic JSON
    path("", include("leads.api")),  # Segment-compatible /v1/... events and the /api/... read API
    path("admin/", admin.site.urls),
]

# JSON errors on /v1/ and /api/ (also with DEBUG off), 503 + Retry-After while the database is unreachable.
handler400 = "alignment.errors.bad_request"
handler403 = "alignment.errors.permission_denied"
handler404 = "alignment.errors.page_not_found"
handler500 = "alignment.errors.server_error"
