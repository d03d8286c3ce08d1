// PANIC needs a deliberate action: press and hold for HOLD_MS. The button
// fills up while held; letting go early cancels. Keyboard: hold Space/Enter.

export const HOLD_MS = 500;

/**
 * @param {HTMLButtonElement} btn
 * @param {() => void} onFire   called once per completed hold
 * @param {() => void} onShort  called when released too early
 */
export function setupPanic(btn, onFire, onShort) {
  let timer = 0;
  let since = 0;

  const start = () => {
    if (timer) return;
    since = performance.now();
    btn.classList.remove("fired");
    btn.classList.add("arming");
    btn.dataset.arming = "true";
    timer = setTimeout(fire, HOLD_MS);
  };
  const reset = () => {
    clearTimeout(timer);
    timer = 0;
    btn.classList.remove("arming");
    delete btn.dataset.arming;
  };
  const cancel = () => {
    if (!timer) return;
    const held = performance.now() - since;
    reset();
    if (held < HOLD_MS) onShort();
  };
  function fire() {
    reset();
    btn.classList.add("fired");
    setTimeout(() => btn.classList.remove("fired"), 900);
    onFire();
  }

  btn.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    try {
      btn.setPointerCapture(e.pointerId); // sliding off does not cancel
    } catch {
      /* synthetic pointer */
    }
    start();
  });
  btn.addEventListener("pointerup", cancel);
  btn.addEventListener("pointercancel", () => reset());
  btn.addEventListener("lostpointercapture", cancel);
  btn.addEventListener("keydown", (e) => {
    if (e.key !== " " && e.key !== "Enter") return;
    e.preventDefault();
    if (!e.repeat) start();
  });
  btn.addEventListener("keyup", (e) => {
    if (e.key === " " || e.key === "Enter") cancel();
  });
  btn.addEventListener("blur", () => reset());
  btn.addEventListener("contextmenu", (e) => e.preventDefault());
}
