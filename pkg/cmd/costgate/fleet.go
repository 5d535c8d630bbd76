package costgate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// envRun is what one environment's verb printed, and how it ended.
type envRun struct {
	out, errOut bytes.Buffer
}

// EnvOutput is one environment's part of a fleet run's -o json|yaml: what the
// verb prints for it alone, or why it could not run.
type EnvOutput struct {
	Env    string          `json:"env"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// runFleet runs a verb in every environment under --dir, each on its own
// cluster with its output kept apart, concurrently (cli.Fleet), then prints
// each environment's output in name order: text lines led by the
// environment's name, or -o json|yaml as one list. An environment that could
// not be reached, or whose verb failed, makes the whole exit 1, naming it.
func (c *common) runFleet(ctx context.Context, flags cli.FleetFlags, output, verb string, run func(context.Context, *common) error) error {
	results, err := cli.Fleet(ctx, c.Factory, flags, func(ctx context.Context, g *cli.Factory) (*envRun, error) {
		r := &envRun{}
		g.Out, g.ErrOut = &r.out, &r.errOut
		return r, run(ctx, &common{Factory: g})
	})
	if err != nil {
		return err
	}
	var failed []string
	var data []EnvOutput
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r.Env)
		}
		if output != "" {
			e := EnvOutput{Env: r.Env}
			if r.Value != nil && r.Value.out.Len() > 0 {
				raw, err := yaml.YAMLToJSON(r.Value.out.Bytes()) // JSON is YAML too
				if err != nil {
					return fmt.Errorf("environment %s: %w", r.Env, err)
				}
				e.Result = raw
			}
			if r.Err != nil {
				e.Error = r.Err.Error()
			}
			data = append(data, e)
			continue
		}
		if r.Value != nil {
			prefixLines(c.Out, r.Env, r.Value.out.String())
			prefixLines(c.ErrOut, r.Env, r.Value.errOut.String())
		}
		if r.Err != nil {
			fmt.Fprintf(c.ErrOut, "%s: error: %v\n", r.Env, r.Err)
		}
	}
	if output != "" {
		if err := printers.Data(c.Out, output, data); err != nil {
			return err
		}
	}
	return cli.FleetError("where "+verb+" failed", failed, len(results))
}

func prefixLines(w interface{ Write([]byte) (int, error) }, env, text string) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		fmt.Fprintf(w, "%s: %s\n", env, sc.Text())
	}
}
