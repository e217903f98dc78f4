module kernelwasm

go 1.21
