from saatrial.cli import app

app()
