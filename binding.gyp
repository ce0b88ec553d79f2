{
  "targets": [
    {
      "target_name": "eccvkit_native",
      "sources": ["native/eccvkit_native.cc"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      # -fno-trapping-math: without it GCC will not turn `x < 0 ? alpha * x : x` into a vector blend (the
      # product might raise a floating-point flag), so LeakyRelu and its gradient ran one branch per element,
      # 20x slower than Relu. Results are the same IEEE values; only the exception flags, which nothing reads, differ.
      # -fno-math-errno: without it every std::sqrt keeps a scalar call for errno on negative input, so the
      # metric kernels' square-root loops do not vectorize; nothing reads errno.
      "cflags_cc": ["-std=c++17", "-O3", "-fno-trapping-math", "-fno-math-errno", "-fexceptions", "-fopenmp"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
