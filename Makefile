# Two commands do everything on a fresh machine:
#   make test    install what is missing, start real Kafka + Toxiproxy, run the tests (then the
#                toy system on kafka-python 2.x and the seat system on confluent-kafka, each in
#                one virtualenv with the harness)
#   make chaos   run the resilience suite and build the Allure HTML report
# Both bootstrap a venv with tox, then call tox, which installs the project and the infrastructure.

PYTHON ?= python3
VENV   := .venv
TOX    := $(VENV)/bin/tox
STAMP  := $(VENV)/.tox-installed

.PHONY: test chaos report bench lint docker mutants clean infra-down

$(STAMP):
	@echo "[make] creating $(VENV) with tox"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip 'tox>=4.14'
	@touch $@

test: $(STAMP)
	$(TOX) -e test -- $(ARGS)
	$(TOX) -e kafka2,seats

chaos: $(STAMP)
	$(TOX) -e chaos -- $(ARGS); status=$$?; $(TOX) -e report; exit $$status

report: $(STAMP)
	$(TOX) -e report

mutants: $(STAMP)
	$(TOX) -e mutants -- $(ARGS)

bench: $(STAMP)
	$(TOX) -e bench

lint: $(STAMP)
	$(TOX) -e lint

docker: $(STAMP)
	$(TOX) -e docker

clean:
	rm -rf .tox $(VENV) reports/allure-results reports/html
