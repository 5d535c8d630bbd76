# The project builds with Go 1.27.3. Machines start on Go 1.26.8: the go command
# fetches go1.27.3 from the module proxy once (about 76 MB) because of this export.
export GOTOOLCHAIN := go1.27.3
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

MODULE   := github.com/aidev-platform/kubectl-plugins
PLUGINS  := kubectl-profile kubectl-costgate kubectl-smoke
BIN      := bin
VERSION  ?= $(shell git describe --tags --match 'v*' --dirty 2>/dev/null || echo v0.1.0-dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -s -w -X $(MODULE)/pkg/version.Version=$(VERSION) \
            -X $(MODULE)/pkg/version.Commit=$(COMMIT) -X $(MODULE)/pkg/version.BuildDate=$(DATE)
KP_CACHE ?= $(HOME)/.cache/kubectl-plugins
KREW_VERSION := v0.4.3
KREW_BIN := $(KP_CACHE)/tools/krew-$(KREW_VERSION)/bin
# The e2e tests install the linux/amd64 archives with the real krew.
export KP_DIST := $(CURDIR)/dist
export KP_KREW_BIN := $(KREW_BIN)
# A cold sandbox build is ~30 minutes; give the e2e run room beyond go test's 10m default.
TEST_TIMEOUT ?= 45m
# The image of kubectl-costgate (its watch runs in the cluster): built into dist/image,
# pushed to $(REGISTRY)/kubectl-costgate, referenced by digest by the watcher Deployments.
REGISTRY  ?= ghcr.io/aidev-platform
IMAGE     := $(REGISTRY)/kubectl-costgate
IMAGE_DIR := dist/image
WATCHERS  := clusters/ai-dev/workloads/platform/costgate-watcher/deployment.yaml \
             clusters/sandbox/workloads/costgate-watcher/deployment.yaml

# The platform's familiar targets act on ENV (a folder of CLUSTERS) with PROFILE.
ENV      ?= ai-dev
PROFILE  ?= full
CLUSTERS ?= clusters
PLATFORM := --env $(ENV) --dir $(CLUSTERS)

.PHONY: all build test lint unit e2e vet bench demo sandbox-build sandbox-up sandbox-down sandbox-status sandbox-spoke-up sandbox-spoke-down clean help \
        root wait resolve-groups watcher-rbac vllm-up vllm-down doctor smoke fleet-status test-deps test-soak dist dist-linux krew krew-index krew-tools vuln docs \
        image image-push release

all: build

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## Build the three plugins into bin/, each also named argocd-<name> (argocd runs that name)
	@mkdir -p $(BIN)
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./plugins/,$(PLUGINS))
	@for p in $(PLUGINS); do ln -sf $$p $(BIN)/argocd-$${p#kubectl-}; done

vet: ## go vet, and gofmt has nothing to change
	go vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt -w these files: $$unformatted" >&2; exit 1; fi

unit: ## Unit tests only (no sandbox)
	go test -short ./...

sandbox-build: ## Build (or find cached) the sandbox's binaries
	bash test/sandbox/build.sh

e2e: sandbox-build test-deps dist-linux krew-tools ## End-to-end tests against the sandbox (started once for the run)
	go test -count=1 -timeout $(TEST_TIMEOUT) ./test/...

test-deps: ## Debian packages the tests start (redis for Argo CD, prometheus for costgate idle, tmux for the terminal views, jq for profile secrets' script)
	@command -v redis-server >/dev/null && command -v prometheus >/dev/null && command -v tmux >/dev/null && command -v jq >/dev/null || { \
	  echo "installing Debian's redis-server, prometheus, tmux and jq (the e2e sandboxes, the idle test, the terminal views and the secrets script run them)"; \
	  apt-get update >/dev/null && apt-get install -y redis-server prometheus tmux jq >/dev/null; }

test: vet build lint sandbox-build test-deps dist-linux krew-tools ## Everything: vet, both trees linted, unit tests and e2e tests against the sandbox
	go test -count=1 -timeout $(TEST_TIMEOUT) ./...

lint: build ## Lint every tree offline: profile lint (sources, pins, secrets) and costgate lint (gates)
	@for env in ai-dev sandbox sandbox-spoke; do \
	  $(BIN)/kubectl-profile lint --env $$env --dir $(CLUSTERS) || exit 1; \
	  $(BIN)/kubectl-costgate lint --env $$env --dir $(CLUSTERS) || exit 1; \
	done

sandbox-up: ## Build and start the sandbox in .sandbox/ (KUBECONFIG=.sandbox/kubeconfig)
	bash test/sandbox/up.sh

sandbox-down: ## Stop the sandbox's processes
	bash test/sandbox/down.sh

sandbox-status: ## Say what runs in the sandbox
	bash test/sandbox/status.sh

sandbox-spoke-up: ## Start a second cluster "spoke" beside the running sandbox, registered in its Argo CD
	bash test/sandbox/spoke-up.sh

sandbox-spoke-down: ## Stop the spoke (SPOKE_PURGE=1 also forgets it: Argo CD Secret, data, state)
	bash test/sandbox/spoke-down.sh $(if $(SPOKE_PURGE),--purge)

demo: build sandbox-up ## Start the sandbox and run the main job on it
	bash test/sandbox/demo.sh

root: build ## Apply profile PROFILE (make root PROFILE=serving)
	$(BIN)/kubectl-profile apply $(PROFILE) $(PLATFORM)

wait: build ## Wait until PROFILE's apps are Synced and Healthy
	$(BIN)/kubectl-profile wait $(PROFILE) $(PLATFORM)

resolve-groups: build ## Resolve config.yaml features into the enabled groups
	$(BIN)/kubectl-profile resolve $(PLATFORM)

watcher-rbac: ## Regenerate the costgate-watcher's roles (rbac.yaml) of both trees from costgate.WatcherNeeds (after a change to the gates or the features that turn them on)
	go run ./hack/watcherrbac -dir $(CLUSTERS) ai-dev sandbox

vllm-up: build ## Open the raw-vllm gate and wait until it serves
	$(BIN)/kubectl-costgate up raw-vllm $(PLATFORM)

vllm-down: build ## Close the raw-vllm gate
	$(BIN)/kubectl-costgate down raw-vllm $(PLATFORM)

doctor: build ## Check the cluster, Argo CD and PROFILE (read-only)
	$(BIN)/kubectl-smoke doctor --profile $(PROFILE) $(PLATFORM)

smoke: build ## The smoke gate: doctor, then the chat probe of PROFILE's models
	$(BIN)/kubectl-smoke run --profile $(PROFILE) $(PLATFORM)

fleet-status: build ## Every environment of CLUSTERS, each on its own cluster: what is live, then every gate and what the open ones cost
	@failed=0; $(BIN)/kubectl-profile status --all-envs --dir $(CLUSTERS) || failed=1; echo; \
	  $(BIN)/kubectl-costgate list --all-envs --dir $(CLUSTERS) || failed=1; exit $$failed

dist: ## Release archives for every platform, with SHA256SUMS (dist/)
	bash krew-manifests/dist.sh

dist-linux: ## The linux/amd64 archives only (what the krew e2e test installs)
	PLATFORMS=linux/amd64 bash krew-manifests/dist.sh

krew: dist ## Regenerate krew-manifests/*.yaml from the archives (VERSION, RELEASE_URL)
	bash krew-manifests/krew.sh

krew-index: krew ## A krew index repository (dist/krew-index, plugins/*.yaml) to publish
	rm -rf dist/krew-index && mkdir -p dist/krew-index/plugins
	cp krew-manifests/profile.yaml krew-manifests/costgate.yaml krew-manifests/smoke.yaml dist/krew-index/plugins/
	git -C dist/krew-index init -q -b main && git -C dist/krew-index add -A && \
	  git -C dist/krew-index -c user.name=release -c user.email=release@localhost commit -qm "plugins $(VERSION)"
	@echo "publish dist/krew-index, then: kubectl krew index add aidev <its git URL>"

krew-tools: ## Build krew and validate-krew-manifest $(KREW_VERSION) (cached)
	@test -x $(KREW_BIN)/krew -a -x $(KREW_BIN)/validate-krew-manifest || { \
	  echo "building krew $(KREW_VERSION)"; mkdir -p $(KREW_BIN); \
	  GOTOOLCHAIN=auto GOBIN=$(KREW_BIN) go install sigs.k8s.io/krew/cmd/krew@$(KREW_VERSION) \
	    sigs.k8s.io/krew/cmd/validate-krew-manifest@$(KREW_VERSION); }

image: ## The costgate watcher's image (linux/amd64, linux/arm64, no base) as an OCI layout in dist/image; prints its digest
	go run ./hack/image build -out $(IMAGE_DIR) -version $(VERSION) -commit $(COMMIT)

image-push: ## Push dist/image (built if missing) to $(REGISTRY)/kubectl-costgate:<its version>; prints repo@digest
	@test -f $(IMAGE_DIR)/index.json || $(MAKE) image
	go run ./hack/image push -layout $(IMAGE_DIR) -repo $(IMAGE)

release: image ## Build the image and point both trees' watcher Deployments at $(REGISTRY)/kubectl-costgate@<its digest>
	go run ./hack/image set-image -repo $(IMAGE) -digest "$$(cat $(IMAGE_DIR)/digest)" $(WATCHERS)
	@echo "release: the watchers now name dist/image's index; make image-push REGISTRY=$(REGISTRY) pushes it as built"

docs: ## Generate the command reference docs/commands from the commands (a unit test fails when it is stale)
	go run ./hack/gendocs -out docs/commands

vuln: ## govulncheck against an offline database built from golang.org/x/vulndb
	bash test/vuln.sh

test-soak: build sandbox-build test-deps dist-linux krew-tools ## The e2e packages SOAK_ROUNDS times (3) with every CPU kept busy; failures per test
	bash test/soak.sh

bench: build ## Benchmarks: Go benchmarks (the image's build time too) and the comparison with kubectl
	go test -run '^$$' -bench . -benchmem ./pkg/...
	go test -run '^$$' -bench ImageBuild ./internal/image/
	bash test/bench/bench.sh

clean: ## Remove bin/ (the sandbox cache stays in ~/.cache/kubectl-plugins)
	rm -rf $(BIN)
