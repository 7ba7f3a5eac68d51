export * from './html.js';
export * from './model.js';
export * from './render.js';
export * from './routing.js';
export { renderDiagram, SIGNAL_COLOURS } from './diagram.js';
export { formatBytes, formatCpu, parseQuantity } from './quantities.js';
