"""The sign-in form and the account forms of the admin pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectChoice, SelectField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, EqualTo, Length

from .services import PASSWORD_MAX, PASSWORD_MIN

ROLE_CHOICES = [SelectChoice("organizer", "组织者"), SelectChoice("reviewer", "评阅人"), SelectChoice("admin", "管理员")]


class SignInForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=PASSWORD_MAX)])


class NewAccountForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    role = SelectField("角色", choices=ROLE_CHOICES)
    #: chosen from a list of the rounds (``choices`` set by the page), never typed as slugs; a
    #: slug no round has is refused by ``create_user`` in words (没有标识为…的评议)
    rounds = SelectMultipleField("评阅的评议（仅评阅人，可多选）", choices=[], validate_choice=False,
                                 widget=widgets.ListWidget(prefix_label=False), option_widget=widgets.CheckboxInput())
    password = PasswordField("初始密码", validators=[DataRequired("请输入密码"), Length(min=PASSWORD_MIN, max=PASSWORD_MAX, message=f"密码为 {PASSWORD_MIN}–{PASSWORD_MAX} 个字符")])
    confirm = PasswordField("再次输入密码", validators=[EqualTo("password", "两次输入的密码不一致")])


class PasswordForm(FlaskForm):
    password = PasswordField("新密码", validators=[DataRequired("请输入密码"), Length(min=PASSWORD_MIN, max=PASSWORD_MAX, message=f"密码为 {PASSWORD_MIN}–{PASSWORD_MAX} 个字符")])
    confirm = PasswordField("再次输入新密码", validators=[EqualTo("password", "两次输入的密码不一致")])
