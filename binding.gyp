{
  "targets": [
    {
      "target_name": "tsdeploy_native",
      "sources": [
        "native/addon.cc",
        "native/mmap.cc",
        "native/cpu.cc",
        "native/dequant.cc",
        "native/dequant_avx2.cc",
        "native/matmul.cc",
        "native/matmul_avx2.cc",
        "native/matmul_avx512.cc",
        "native/qmatmul.cc",
        "native/qpack.cc",
        "native/qmatmul_avx2.cc",
        "native/qmatmul_avx512.cc",
        "native/qmatmul_amx.cc",
        "native/quantize.cc",
        "native/threadpool.cc",
        "native/norm.cc",
        "native/rope.cc",
        "native/activation.cc",
        "native/attention.cc",
        "native/sampling.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-exceptions", "-ffp-contract=off", "-fno-math-errno", "-Wall", "-Wextra", "-Wno-unused-parameter", "-pthread"],
      "ldflags": ["-pthread"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"]
    }
  ]
}
