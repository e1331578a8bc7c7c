package subprocessor

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"

	"github.com/evident-isms/evident/internal/control"
)

// Registers as CSV. Cells a spreadsheet would run as a formula are
// neutralised. They list every subprocessor, public or not: they are the
// organisation's own records.

// Art30CSV is the recipients part of the GDPR Art. 30 record of processing:
// who processes what, where, and under which safeguard for transfers.
func Art30CSV(list []Subprocessor) []byte {
	return writeCSV([]string{"subprocessor", "lei", "subcontractor_of", "purpose", "categories_of_personal_data",
		"processing_countries", "storage_countries", "transfer_safeguard", "dpa_status", "dpa_url", "status", "since"},
		list, func(sp Subprocessor, parent string, _ int) []string {
			return []string{sp.Name, sp.LEI, parent, sp.Purpose, strings.Join(sp.DataCategories, "; "),
				strings.Join(sp.ProcessingCountries, " "), strings.Join(sp.StorageCountries, " "), sp.TransferMechanism,
				sp.DPAStatus, sp.DPAURL, sp.Status, sp.Since}
		})
}

// DORACSV lays the subprocessors out as the ICT third-party service
// providers of a DORA register of information: provider, identifier, the
// function it supports, the service category, its rank in the supply chain
// and the provider above it, where data is processed and stored.
func DORACSV(list []Subprocessor) []byte {
	return writeCSV([]string{"provider_name", "provider_lei", "function_supported", "ict_service_type", "supply_chain_rank",
		"recipient_of_sub_contracting", "processing_countries", "storage_countries", "status", "start_date"},
		list, func(sp Subprocessor, parent string, rank int) []string {
			return []string{sp.Name, sp.LEI, sp.Function, sp.Category, strconv.Itoa(rank), parent,
				strings.Join(sp.ProcessingCountries, " "), strings.Join(sp.StorageCountries, " "), sp.Status, sp.Since}
		})
}

func writeCSV(header []string, list []Subprocessor, row func(sp Subprocessor, parent string, rank int) []string) []byte {
	byID := map[string]Subprocessor{}
	for _, sp := range list {
		byID[sp.ID] = sp
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(header)
	for _, sp := range list {
		rank, parent := 1, ""
		if p, ok := byID[sp.ParentID]; ok {
			parent = p.Name
			for at := p; ; rank++ {
				next, ok := byID[at.ParentID]
				if !ok || rank > 10 {
					rank++
					break
				}
				at = next
			}
		}
		cells := row(sp, parent, rank)
		for i := range cells {
			cells[i] = control.SafeCell(cells[i])
		}
		_ = w.Write(cells)
	}
	w.Flush()
	return b.Bytes()
}
