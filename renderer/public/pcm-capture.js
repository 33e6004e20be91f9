// The recorder's audio worklet: hands the captured samples to the page in 100 ms blocks, one array per
// channel, at the AudioContext's rate (16 kHz: what Whisper and the voice-activity detector hear).
class PcmCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.blocks = [];
    this.frames = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (input && input.length > 0) {
      this.blocks.push(input.map((channel) => channel.slice()));
      this.frames += input[0].length;
      if (this.frames >= sampleRate / 10) {
        this.port.postMessage(this.blocks);
        this.blocks = [];
        this.frames = 0;
      }
    }
    return true;
  }
}

registerProcessor('pcm-capture', PcmCapture);
