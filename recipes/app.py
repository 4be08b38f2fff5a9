"""The seed's Flask app: one page with the demo's secret. Each recipe in this folder serves it
over HTTPS with the demo's certificate (README: "Our certificate in gunicorn, nginx, uwsgi and
Caddy")."""

from flask import Flask

SECRET_MESSAGE = "fluffy tail"

app = Flask(__name__)


@app.route("/")
def get_secret_message():
    return SECRET_MESSAGE
