// Dark mode follows the system unless the user picks light or dark (kept in localStorage). This script runs in
// <head> before the first paint, so a dark-mode user never sees a white flash; it also follows later changes of the
// system setting and of the choice in other tabs. A flip repaints at once: transitions are held off while the class
// changes and the styles are recomputed, so no colour eases through mid-way shades (which also fail contrast checks).
// A server component: the script is part of the HTML.

export const themeStorageKey = "e3-theme";

const applyTheme = `(function(){try{var k=${JSON.stringify(themeStorageKey)};var m=window.matchMedia("(prefers-color-scheme: dark)");function a(){var t=localStorage.getItem(k);var d=t==="dark"||((t!=="light")&&m.matches);var r=document.documentElement;if(r.classList.contains("dark")===d)return;var s=document.createElement("style");s.textContent="*,*::before,*::after{transition:none!important}";document.head.appendChild(s);r.classList.toggle("dark",d);getComputedStyle(r).color;setTimeout(function(){s.remove();},0);}a();m.addEventListener("change",a);window.addEventListener("storage",function(e){if(e.key===k)a();});window.__e3ApplyTheme=a;}catch(e){}})();`;

/** Put in the root layout's <head>. */
export function ThemeScript() {
  // biome-ignore lint/security/noDangerouslySetInnerHtml: a constant script, needed before hydration to avoid a flash
  return <script dangerouslySetInnerHTML={{ __html: applyTheme }} />;
}
