from django.urls import path

from toc.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.communicator, name="communicator"),
    path("welcome/", views.welcome, name="welcome"),
    path("login/", views.login_method, name="login_method"),
    path("login/password/", views.password_login, name="login"),
    path("login/sso/", views.sso_login, name="sso_login"),
    path("login/done/", views.after_login, name="after_login"),
    path("logout/", views.sign_out, name="logout"),
    path("wizard/phones/", views.wizard_phones, name="wizard_phones"),
    path("wizard/finish/", views.wizard_finish, name="wizard_finish"),
]
