from cinelibre.cli import app

app(prog_name="cinelibre")
