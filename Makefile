# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app survey
HOST   ?= 0.0.0.0
PORT   ?= 5000
# QR codes must carry an address a phone on this network can reach, not localhost.
LAN_IP := $(shell hostname -I 2>/dev/null | awk '{print $$1}')
export SURVEY_BASE_URL ?= http://$(if $(LAN_IP),$(LAN_IP),localhost):$(PORT)

.PHONY: install run serve test bench bench-scoring bench-ballots clean

$(BIN)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=python3"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,prod]'
	touch $@

install: $(BIN)/.installed

# For trying the service, not for a real round: Flask's development server, a demo round and
# codes in instance/. A real round runs under gunicorn (README, "Deploying").
run: install
	@echo "make run: for trying the service, not for a real round (see README: Deploying with PostgreSQL and gunicorn)"
	$(FLASK) db upgrade
	@# the address printed below, in links and QR is the stored one (flask config shows it too);
	@# this stores SURVEY_BASE_URL the first time only: change it with flask --app survey config set-base-url
	$(FLASK) config set-base-url --if-unset "$(SURVEY_BASE_URL)"
	$(FLASK) demo
	$(FLASK) run --host $(HOST) --port $(PORT)

# A round on one machine: gunicorn with the shipped gunicorn.conf.py on 127.0.0.1:$(PORT), SQLite
# in instance/. Phones reach it through nginx with TLS in front (docs/deploy.md). To serve them
# directly, give gunicorn a certificate:
#   make serve SURVEY_BIND=0.0.0.0:8443 SURVEY_TLS_CERT=fullchain.pem SURVEY_TLS_KEY=privkey.pem
# Plain HTTP on a network address is refused unless SURVEY_PLAIN_HTTP_LAN=yes (a closed lab only:
# anyone on the network reads the codes and answers).
serve: install
	$(FLASK) db upgrade
	$(FLASK) config
	SURVEY_BIND=$${SURVEY_BIND:-127.0.0.1:$(PORT)} $(BIN)/gunicorn -c gunicorn.conf.py 'survey:create_app()'

test: install
	$(BIN)/python -m pytest

# Both benchmarks; each prints its figures (they are reported, never asserted in `make test`).
bench: bench-scoring bench-ballots

bench-scoring: install
	$(BIN)/python bench/bench_scoring.py

# Phones casting ballots: this project on SQLite and PostgreSQL against bare Flask + sqlite3.
bench-ballots: install
	$(BIN)/python bench/ballots.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
