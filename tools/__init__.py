"""What develops camscore and shows it, run from the checkout (its root on the path), never shipped: generated
frames and the local object store (shared with the tests), the demo, the benchmarks, the fuzzer and the function
packager. camscore never imports it."""
