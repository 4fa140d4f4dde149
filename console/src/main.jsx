// The console's entry point: the shell, rendered into #app.
import { render } from "preact";
import { App } from "./app.jsx";
import "./app.css";

render(<App />, document.getElementById("app"));
