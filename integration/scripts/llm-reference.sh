# The public reference model in the kernel: stories260K (../shared/llm/, never committed) mounted
# as a model directory under /llm, which overrides the installed model package; its greedy text
# is llama2.c's run.c's, token for token, as on the host (kernel-wasm/tests/llm_exact.rs).
llm-info
llm-infer --max-tokens 30 Once upon a time
exit 0
