# Two commands do all the set-up (see README): `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
# the CPU wheel of torch; set TORCH='torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128' for CUDA
TORCH ?= torch==2.13.0
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1

.PHONY: install demo test benchmarks clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[all,test]"
	touch $@

demo: install
	$(VENV)/bin/diversity-metrics score --example --output runs/example.scores.jsonl --no-resume

test: install
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) runs .pytest_cache
