// SPDX-License-Identifier: GPL-2.0-only
/** The page's styles (inlined with the script: the page is one file). */
export const CSS = `
body { font: 13px/1.4 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
.app { padding: 8px 16px; max-width: 1000px; }
h1 { font-size: 18px; margin: 4px 0; } h3 { font-size: 14px; margin: 10px 0 4px; }
.muted { color: #777; font-weight: normal; }
section { background: #fff; border: 1px solid #e3e3e3; border-radius: 4px; padding: 6px 8px; margin: 6px 0; }
.cols { display: flex; gap: 8px; } .cols > section { flex: 1; min-width: 0; }
.timeline { margin: 6px 0; } .cells { display: flex; flex-wrap: wrap; gap: 2px; }
.cell { width: 14px; height: 18px; border: 1px solid #bbb; padding: 0; cursor: pointer; border-radius: 2px; }
.cell.ok { background: #b7e4c7; } .cell.errno { background: #a9d6e5; } .cell.notmet { background: #e5383b; } .cell.warn { background: #ff9f1c; }
.cell.current { outline: 2px solid #111; outline-offset: 1px; }
#slider { width: 100%; }
.call.notmet, .call.warn { border-color: #e5383b; }
.warnline { color: #b00; font-weight: bold; }
code { background: #f1f1f1; padding: 0 3px; }
table { border-collapse: collapse; margin: 4px 0; font-size: 12px; }
td, th { border: 1px solid #e0e0e0; padding: 1px 6px; text-align: left; }
.changed, tr.changed td { background: #ffe8a3; }
svg.iova { background: #fcfcfc; border: 1px solid #eee; cursor: grab; }
.rowlabel { font-size: 10px; fill: #555; pointer-events: none; }
.area { fill: #74c0fc; stroke: #1c7ed6; cursor: pointer; } .area.selected { stroke: #000; stroke-width: 2; }
.area.changed { fill: #ffd43b; }
.arealabel { font-size: 11px; fill: #0b3d66; pointer-events: none; }
.reserved { fill: #dee2e6; stroke: #adb5bd; } .hole { fill: none; stroke: #adb5bd; stroke-dasharray: 3 2; } .allowed { fill: #51cf66; }
.changed-range { fill: none; stroke: #f08c00; stroke-width: 2; }
.run.dirty { stroke: #d6336c; }
.legend span { margin-right: 12px; } .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
ul { margin: 2px 0; padding-left: 18px; } .none { color: #999; }
.reset { margin-left: 8px; font-size: 11px; }
`;
