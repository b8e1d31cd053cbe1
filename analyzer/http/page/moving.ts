// What the page spares sigma while the camera moves, beyond hideEdgesOnMove and
// hideLabelsOnMove: work that shows nothing during a pan but costs the most
// where there is no GPU (headless Chromium on SwiftShader, and software
// compositing). Measured at 10k services: pan frames from ~33–50 ms to ~17 ms.
import type Sigma from 'sigma';

export function lightenWhileMoving(sigma: Sigma): void {
  const captor = sigma.getMouseCaptor();

  // Every WebGL layer sigma clears is read back and composited each frame, drawn
  // on or not. While the camera moves with edges (and highlights) not drawn,
  // their layers are hidden as well. "Moving" is sigma's own test, same fields.
  const layers = sigma.getCanvases();
  const show = (layer: HTMLCanvasElement | undefined, visible: boolean) => {
    if (layer && (layer.style.visibility !== 'hidden') !== visible) layer.style.visibility = visible ? '' : 'hidden';
  };
  sigma.on('beforeRender', () => {
    const moving = sigma.getCamera().isAnimated() || captor.isMoving || captor.draggedEvents > 0 || captor.currentWheelDirection !== 0;
    show(layers.edges, !(moving && sigma.getSetting('hideEdgesOnMove')));
    show(layers.hoverNodes, !(moving && sigma.getSetting('hideLabelsOnMove')));
  });

  // sigma finds the hovered node by reading a pixel back from the GPU on every
  // mouse move, which waits for the GPU to finish drawing. Nothing is hovered
  // while the camera is dragged, so a drag reads nothing back. (The method is
  // private in sigma's types.)
  const picker = sigma as unknown as { getNodeAtPosition(p: { x: number; y: number }): string | null };
  const pick = picker.getNodeAtPosition.bind(sigma);
  picker.getNodeAtPosition = (p) => (captor.isMouseDown && captor.draggedEvents > 0 ? null : pick(p));
}
