//go:build race

package engine_test

// raceEnabled: under the race detector SQLite runs some thirty times
// slower, so the simulation's defaults shrink (see TestSimulation).
const raceEnabled = true
