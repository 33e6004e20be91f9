/**
 * ONNX Runtime's prebuilt binaries (onnxruntime-node ≥ 1.29, the runtime under Whisper, Silero VAD and the
 * speaker models) send usage events to Microsoft and keep a device id in ~/.cache unless told not to. Nothing
 * leaves this machine without the user's say, so it is told not to, before any of them loads: the runtime
 * reads this variable once, when it starts. Imported first by every native module that loads the runtime;
 * set here in the process (not a worker thread), so worker threads and child processes inherit it.
 */
process.env.ORT_DISABLE_TELEMETRY = '1';
