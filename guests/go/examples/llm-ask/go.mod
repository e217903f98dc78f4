module llmask

go 1.21

require kernelwasm v0.0.0

replace kernelwasm => ../../sdk
