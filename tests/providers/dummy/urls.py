from django.urls import path

from providers.dummy import views

urlpatterns = [path("dummy-pbx/<str:token>/", views.webhook, name="dummy_webhook")]
